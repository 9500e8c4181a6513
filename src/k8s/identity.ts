import type { KubeClient } from './rest.ts';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/**
 * Who the API server says we are, as a service account (undefined for other users, such as a kubeconfig
 * admin, or when the API is unavailable). SelfSubjectReview is open to every authenticated identity.
 */
export async function ownServiceAccount(client: KubeClient): Promise<ServiceAccountRef | undefined> {
  const review = await client.request<{ status?: { userInfo?: { username?: string } } }>('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(review.status?.userInfo?.username ?? '');
  return match ? { namespace: match[1]!, name: match[2]! } : undefined;
}
