// Restart of a job spread over hosts: a TCP connection between two of its hosts is made
// again by their agents. The listening end offers its addresses under the connection's
// key; the connecting end waits here for them.
export class Rendezvous {
  private readonly offers = new Map<string, string[]>();
  private readonly waiting = new Map<string, Array<(addrs: string[]) => void>>();

  offer(key: string, addrs: string[]): void {
    this.offers.set(key, addrs);
    for (const w of this.waiting.get(key) ?? []) w(addrs);
    this.waiting.delete(key);
  }

  async want(key: string, waitMs: number): Promise<string[]> {
    const known = this.offers.get(key);
    if (known) return known;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const ws = this.waiting.get(key) ?? [];
        this.waiting.set(key, ws.filter((w) => w !== done));
        reject(new Error(`no agent offered the connection ${key} within ${waitMs / 1000} s (is its other host restarting?)`));
      }, waitMs);
      const done = (addrs: string[]): void => {
        clearTimeout(timer);
        resolve(addrs);
      };
      this.waiting.set(key, [...(this.waiting.get(key) ?? []), done]);
    });
  }
}
