import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileWorkflow } from '../../../src/core/compile.ts';
import { findJsonProblem } from '../../../src/core/json-problems.ts';

const nest = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
};

test('findJsonProblem counts array and object levels; scalars are depth 0', () => {
  assert.equal(findJsonProblem(1, 0), undefined);
  assert.deepEqual(findJsonProblem({}, 0), { kind: 'tooDeep' });
  assert.equal(findJsonProblem(nest(3), 3), undefined);
  assert.deepEqual(findJsonProblem(nest(4), 3), { kind: 'tooDeep' });
  assert.equal(findJsonProblem({ a: 1, b: [1, { c: [] }] }, 4), undefined);
  assert.deepEqual(findJsonProblem({ a: 1, b: [1, { c: [[]] }] }, 4), { kind: 'tooDeep' });
});

test('findJsonProblem handles 100,000 levels without recursion', () => {
  assert.deepEqual(findJsonProblem(nest(100_000), 200), { kind: 'tooDeep' });
});

test('findJsonProblem finds a "__proto__" key, which object building would silently drop, with its path', () => {
  const spec = JSON.parse('{"nodes": {"a": {"inputs": {"__proto__": {"value": 1}}}}}');
  assert.deepEqual(findJsonProblem(spec, 200), { kind: 'protoKey', path: 'nodes.a.inputs.__proto__' });
  assert.deepEqual(findJsonProblem(JSON.parse('[{"__proto__": 1}]'), 200), { kind: 'protoKey', path: '[0].__proto__' });
});

test('compile rejects a "__proto__" name instead of losing it', () => {
  const spec = JSON.parse('{"tasks": {"t": {"container": {"image": "x"}}}, "nodes": {"__proto__": {"task": "t"}, "b": {"task": "t"}}}');
  const result = compileWorkflow(spec, { maxNodes: 100 });
  assert.deepEqual(result, { ok: false, errors: ['workflow: nodes.__proto__: "__proto__" is not allowed as a name'] });
});

test('an input named "true" gets a hint about unquoted YAML 1.1 booleans', () => {
  const spec = {
    tasks: { t: { interface: { inputs: { y: 'int' } }, container: { image: 'x' } } },
    nodes: { a: { task: 't', inputs: { true: { value: 1 }, y: { value: 2 } } } },
  };
  const result = compileWorkflow(spec, { maxNodes: 100 });
  assert.equal(result.ok, false);
  assert.match(
    (result as { errors: string[] }).errors[0]!,
    /^node "a": input "true": task "t" has no input named "true" \(an unquoted YAML key y, n, yes, no, on or off is read as a boolean: quote it, e.g. "y"\)$/,
  );
});
