/**
 * Task code shipped without an image build (like Flyte's fast register): an SDK bundles a task's code into
 * an immutable ConfigMap in the workflow's namespace, the task sets `code: {configMap: NAME}`, and the
 * container plugin mounts that ConfigMap read-only into the task container. Shared with the SDK, which
 * writes commands that read the bundle from here.
 */

/** Where the ConfigMap's files appear in the task container: key `bundle.mjs` is /opt/propeller/code/bundle.mjs. */
export const CODE_MOUNT_PATH = '/opt/propeller/code';
/** The pod volume that holds the code ConfigMap. */
export const CODE_VOLUME = 'propeller-code';
/** File mode of the mounted files: 0444, readable by any user the image runs as, writable by none. */
export const CODE_FILE_MODE = 0o444;
