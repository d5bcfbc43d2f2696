/**
 * Progress for operations on several agents at once: on a terminal, one live line per agent,
 * redrawn in place; otherwise one plain line per state change (logs stay readable).
 * @module
 */

export class Progress {
  readonly #names: string[];
  readonly #status = new Map<string, string>();
  readonly #tty: boolean;
  #drawn = 0;

  constructor(names: string[], stream: NodeJS.WriteStream = process.stderr) {
    this.#names = names;
    this.#tty = stream.isTTY === true && process.env.TERM !== 'dumb';
    this.#stream = stream;
  }

  readonly #stream: NodeJS.WriteStream;

  set(name: string, status: string): void {
    this.#status.set(name, status);
    if (!this.#tty) {
      this.#stream.write(`${name}: ${status}\n`);
      return;
    }
    this.#redraw();
  }

  #redraw(): void {
    const width = Math.max(...this.#names.map((n) => n.length));
    if (this.#drawn) this.#stream.write(`\x1b[${this.#drawn}A`);
    for (const n of this.#names) {
      this.#stream.write(`\x1b[2K${n.padEnd(width)}  ${this.#status.get(n) ?? 'waiting'}\n`);
    }
    this.#drawn = this.#names.length;
  }
}
