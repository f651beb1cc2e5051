/** Event-time arithmetic shared by the hot path, the lake replay and batch jobs (design.md, "Windows"). */

/**
 * Start of the tumbling window holding `eventTime` (epoch ms, UTC): windows align
 * to UTC epoch multiples of `windowSizeMs`, so negative times work too.
 */
export function windowStartOf(eventTime: number, windowSizeMs: number): number {
  return eventTime - (((eventTime % windowSizeMs) + windowSizeMs) % windowSizeMs);
}
