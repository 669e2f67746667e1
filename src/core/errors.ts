/**
 * The text to show for a caught value: an Error's message, or the value as a string (a worker or
 * v86 may reject with a plain string). A leading "Error: " is dropped: an error that crossed a
 * worker boundary as text carries its name in the message, and the UI names the failure itself.
 */
export function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^Error: /, '');
}
