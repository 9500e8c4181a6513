import { z } from 'zod';
import { GROUP } from './flyteworkflow.ts';

export const CACHE_KIND = 'CacheEntry';
export const CACHE_PLURAL = 'cacheentries';
export const CACHE_SINGULAR = 'cacheentry';
export const CACHE_SHORT_NAMES = ['fcache'];

const Time = z.string().describe('RFC 3339 time.');

const Holder = z.object({
  workflow: z.string().describe('The FlyteWorkflow computing the outputs.'),
  uid: z.string().describe('Its uid.'),
  node: z.string().describe('The node path computing them.'),
  until: Time.describe('The reservation lapses then unless its holder renews it; another execution may then take it over.'),
});

export const CacheEntrySpec = z
  .object({
    key: z.string().min(64).max(64).describe('SHA-256 (hex) of the task name, cache version, interface and inputs in canonical form; the name holds its first 20 characters.'),
    task: z.string().describe('The task the outputs are of.'),
    cacheVersion: z.string().describe("The task's cache version."),
    outputs: z
      .record(z.string(), z.unknown().meta({ 'x-kubernetes-preserve-unknown-fields': true }))
      .meta({ 'x-kubernetes-map-type': 'atomic' })
      .optional()
      .describe('The outputs; absent while the entry is only reserved.'),
    reservedBy: Holder.optional().describe('Set while a serialized run computes the outputs; others wait for it.'),
    expiresAt: Time.optional().describe('After this the entry is no longer used, and the propeller deletes it.'),
    createdBy: z
      .object({ workflow: z.string(), node: z.string(), at: Time })
      .optional()
      .describe('The run that wrote the entry.'),
  })
  .describe('The cached outputs of one task run. Delete the object to invalidate it.');

export type CacheEntrySpec = z.infer<typeof CacheEntrySpec>;

export interface CacheEntryObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; creationTimestamp?: string };
  spec: CacheEntrySpec;
}

export const CACHE_API = { group: GROUP, kind: CACHE_KIND, plural: CACHE_PLURAL } as const;
