import type { KubeClient } from '../../src/k8s/rest.ts';
import { isGone } from '../../src/k8s/errors.ts';
import { Backoff } from './backoff.ts';
import { errorText, log } from './log.ts';
import type { Pod, PodList } from './pod-types.ts';

export interface PodHandlers {
  /** The full set of the node's pods after a (re)list; pods not in it are gone. */
  sync(pods: Pod[]): void;
  upsert(pod: Pod): void;
  remove(pod: Pod): void;
}

/**
 * List-then-watch of the pods bound to one node, in all namespaces. Relists when the watch's
 * resourceVersion expires (410 Gone); any other failure is retried with capped backoff, forever,
 * until the signal aborts.
 */
export async function watchNodePods(client: KubeClient, nodeName: string, handlers: PodHandlers, signal: AbortSignal): Promise<void> {
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const backoff = new Backoff(200, 5000);
  let resourceVersion: string | undefined;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.request<PodList>('GET', '/api/v1/pods', { query: { fieldSelector }, signal });
        guard('sync', () => handlers.sync(list.items));
        resourceVersion = list.metadata.resourceVersion;
      }
      const watchStarted = Date.now();
      await client.watch<Pod>(
        '/api/v1/pods',
        { fieldSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 240 + Math.floor(Math.random() * 120) },
        (event) => {
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          backoff.reset();
          if (event.type === 'ADDED' || event.type === 'MODIFIED') guard('upsert', () => handlers.upsert(event.object));
          else if (event.type === 'DELETED') guard('remove', () => handlers.remove(event.object));
        },
        { signal },
      );
      // The server ends watches on its timeout; one that ends at once would otherwise spin.
      if (Date.now() - watchStarted < 1000) await backoff.wait(signal);
    } catch (err) {
      if (signal.aborted) return;
      if (isGone(err)) {
        log('pod watch expired; relisting');
        resourceVersion = undefined;
        continue;
      }
      log(`pod watch failed, retrying: ${errorText(err)}`);
      await backoff.wait(signal);
    }
  }
}

/** A bug in handling one event must not end the watch. */
function guard(what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    log(`pod ${what} handler failed: ${errorText(err)}`);
  }
}
