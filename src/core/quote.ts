/** A user-supplied name in a message: quoted, and cut short so a 100 KB name cannot flood a status. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
