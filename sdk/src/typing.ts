import type { NodeHandle, Promise_ } from './promise.ts';
import type { Type, ValueOf } from './types.ts';

// The TypeScript side of interfaces: what a body receives, what a call takes and returns.

export type TypeMap = Record<string, Type<any>>;
export type Values<M extends TypeMap> = { [K in keyof M]: ValueOf<M[K]> };

/** What may be passed for a value of type T: the value, a promise of it, or lists and dicts mixing both. */
export type Bindable<T> =
  | T
  | Promise_<T>
  | (T extends readonly (infer E)[] ? readonly Bindable<E>[] : never)
  | (T extends Record<string, infer V> ? { readonly [k: string]: Bindable<V> } : never);

type OptionalKeys<M extends TypeMap, D> = { [K in keyof M]: null extends ValueOf<M[K]> ? K : K extends keyof D ? K : never }[keyof M];
/** The inputs of a call: inputs of Optional type or with a default may be left out. */
export type Args<M extends TypeMap, D = {}> = { [K in Exclude<keyof M, OptionalKeys<M, D>>]: Bindable<ValueOf<M[K]>> } & {
  [K in OptionalKeys<M, D>]?: Bindable<ValueOf<M[K]>>;
};

/** What a task function or workflow body returns for its declared outputs. */
export type Returned<O, N extends TypeMap> = [O] extends [never] ? (keyof N extends never ? void : Values<N>) : O;
/** What calling it in a workflow body gives: a promise, a record of promises, or a handle for ordering. */
export type CallResult<O, N extends TypeMap> = [O] extends [never] ? (keyof N extends never ? NodeHandle : { readonly [K in keyof N]: Promise_<ValueOf<N[K]>> }) : Promise_<O>;
/** What a workflow body returns: promises (or constants) for its outputs. */
export type BodyResult<O, N extends TypeMap> = [O] extends [never] ? (keyof N extends never ? void | NodeHandle : { [K in keyof N]: Bindable<ValueOf<N[K]>> }) : Bindable<O>;
export type Promises<M extends TypeMap> = { readonly [K in keyof M]: Promise_<ValueOf<M[K]>> };
