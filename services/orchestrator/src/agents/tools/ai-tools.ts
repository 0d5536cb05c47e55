import { type ToolSet, jsonSchema, tool } from 'ai';
import { z } from 'zod';
import { AGENT_TOOLS, type AgentToolDef } from './definitions';

let cached: ToolSet | undefined;

/**
 * The tools as the AI SDK sends them to a model: schemas and descriptions only. No `execute`: the
 * agent loop runs each call itself (to record it, stream it and enforce limits) and validates the
 * input with the zod schema there. The JSON Schemas are converted once: converting zod on every
 * request was the largest cost of a step.
 */
export function aiSdkTools(): ToolSet {
  if (cached) return cached;
  const out: ToolSet = {};
  for (const [name, d] of Object.entries(AGENT_TOOLS) as [string, AgentToolDef][]) {
    out[name] = tool({ description: d.description, inputSchema: jsonSchema(z.toJSONSchema(d.input, { io: 'input' }) as Parameters<typeof jsonSchema>[0]) });
  }
  cached = out;
  return out;
}
