import { AppError } from '@codeagent/contracts';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { RouteDeps } from '../routes/deps';
import type { Principal } from '../auth/principal';

/** What every MCP tool and resource of one MCP session acts with: the REST routes' deps and the caller. */
export interface McpContext {
  deps: RouteDeps;
  /** The user the MCP session was opened by (its bearer token's owner); fixed for the session. */
  who: Principal;
  /** The MCP client's name (from initialize), recorded on progress reports and signals. */
  clientName(): string | undefined;
}

/** The platform's reason for a failure, as people and programs read it: `FORBIDDEN: session … belongs to another user`. */
export function reasonOf(err: unknown): { code: string; message: string } {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  if (err instanceof McpError) return { code: 'MCP_ERROR', message: err.message };
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/**
 * A failed tool call as MCP has it (a result with isError, so the calling model reads why), carrying
 * the platform's error code beside the message.
 */
export function toolError(err: unknown): CallToolResult {
  const r = reasonOf(err);
  return { isError: true, content: [{ type: 'text', text: `${r.code}: ${r.message}` }], _meta: { 'codeagent/error': r } };
}

/** A failed resource read: a JSON-RPC error with the platform's reason (invalid params for the caller's faults). */
export function resourceError(err: unknown): McpError {
  const r = reasonOf(err);
  const callers = ['NOT_FOUND', 'FORBIDDEN', 'VALIDATION_FAILED', 'INVALID_STATE', 'UNAUTHORIZED'];
  return new McpError(callers.includes(r.code) ? ErrorCode.InvalidParams : ErrorCode.InternalError, `${r.code}: ${r.message}`, r);
}

/** Wraps a tool body so that every platform error becomes an MCP tool error with its reason. */
export function guarded<A>(fn: (args: A, extra: ToolExtra) => Promise<CallToolResult>): (args: A, extra: ToolExtra) => Promise<CallToolResult> {
  return async (args, extra) => {
    try {
      return await fn(args, extra);
    } catch (err) {
      return toolError(err);
    }
  };
}

/** The parts of the SDK's request context the tools use. */
export interface ToolExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (n: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; total?: number; message?: string } }) => Promise<void>;
}

/** A JSON result: the structured value, and the same as text for clients that read only text. */
export function jsonResult(value: Record<string, unknown>, text?: string): CallToolResult {
  return { structuredContent: value, content: [{ type: 'text', text: text ?? JSON.stringify(value, null, 2) }] };
}
