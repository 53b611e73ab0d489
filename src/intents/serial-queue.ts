// Runs async operations one at a time, in arrival order. A Durable Object's input gate lets other
// requests in while the object awaits a PSP call; this queue is what keeps two confirms, or a capture
// and a cancel, from ever interleaving.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  run<T>(operation: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(() => operation());
    this.tail = result.then(
      () => this.waiting--,
      () => this.waiting--,
    );
    return result;
  }

  /** Operations queued or running. */
  get depth(): number {
    return this.waiting;
  }
}
