/** The uid of an object's controlling owner: the index of owned objects by owner, one function for every informer that shares it. */
export function controllerOwnerUid(object: { metadata: { ownerReferences?: { uid: string; controller?: boolean }[] } }): string | undefined {
  return object.metadata.ownerReferences?.find((r) => r.controller)?.uid;
}
