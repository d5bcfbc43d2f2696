/** Token and cost accounting across an agent's turns (`usage.json`). Pure. */

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  turns: number;
  cost_usd: number;
}

export const ZERO_USAGE: Usage = {
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  turns: 0,
  cost_usd: 0,
};

export interface ResultUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
}

const n = (v: number | null | undefined): number =>
  typeof v === 'number' && Number.isFinite(v) ? v : 0;

/** Add one result's usage (one turn) to a running total. */
export function addUsage(
  total: Usage,
  usage: ResultUsage | undefined,
  costUsd: number | undefined,
): Usage {
  return {
    input_tokens: total.input_tokens + n(usage?.input_tokens),
    output_tokens: total.output_tokens + n(usage?.output_tokens),
    cache_creation_input_tokens:
      total.cache_creation_input_tokens + n(usage?.cache_creation_input_tokens),
    cache_read_input_tokens: total.cache_read_input_tokens + n(usage?.cache_read_input_tokens),
    turns: total.turns + 1,
    cost_usd: Math.round((total.cost_usd + n(costUsd)) * 1e6) / 1e6,
  };
}
