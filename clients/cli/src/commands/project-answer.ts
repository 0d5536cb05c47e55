import { createInterface } from 'node:readline';
import { CliError, ExitCode } from '../errors';
import type { Ctx } from '../context';

type AnswererLine =
  | { type: 'claimed'; claim_id: string; project_name: string; ci_socket: string; socket_port: number; lease_ms: number }
  | { type: 'question'; question_id: string; content: string; via: 'socket' | 'bus'; asked_at: string }
  | { type: 'waiting' }
  | { type: 'released'; reason: string };

/**
 * Seed 004's "forward a CI to a terminal": this terminal answers the project's chat instead of its model.
 * Questions print on stdout (JSON lines with --json); each line typed on stdin answers the oldest
 * question waiting. Ctrl-D or Ctrl-C gives the chat back to the model; so does this process dying
 * (the gateway releases the claim when the stream closes).
 */
export async function answerProjectChat(ctx: Ctx, project: string): Promise<void> {
  const base = `/api/v1/projects/${encodeURIComponent(project)}/chat/answerer`;
  const stop = new AbortController();
  const waiting: string[] = [];
  let claimId: string | undefined;
  let exitCode: number = ExitCode.ok;
  const say = (text: string): void => void process.stderr.write(`${text}\n`);

  const giveBack = async (code: number) => {
    if (stop.signal.aborted) return;
    exitCode = code;
    if (claimId) await ctx.api.delete(`${base}/${encodeURIComponent(claimId)}`).catch(() => undefined);
    stop.abort();
  };
  const onInterrupt = () => void giveBack(ExitCode.interrupted);
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);

  // Read only once the claim is held: input that ends before then must not hide why the claim failed.
  let input: ReturnType<typeof createInterface> | undefined;
  const readAnswers = (claim: string) => {
    input = createInterface({ input: process.stdin, terminal: false });
    // Answers are sent one at a time, in the order typed, so each goes to the question it was meant for.
    let sending = Promise.resolve();
    input.on('line', (typed) => {
      const text = typed.trimEnd();
      if (!text) return;
      sending = sending.then(async () => {
        const questionId = waiting.shift();
        if (!questionId) return say('no question is waiting; your line was not sent');
        try {
          await ctx.api.post(`${base}/${encodeURIComponent(claim)}/answers`, { question_id: questionId, content: text });
          say(ctx.out.dim('answered'));
        } catch (err) {
          say(`that answer was not delivered: ${(err as Error).message}`);
        }
      });
    });
    input.on('close', () => void sending.then(() => giveBack(ExitCode.ok)));
  };

  try {
    for await (const line of ctx.api.lines<AnswererLine>('POST', base, {}, stop.signal)) {
      if (ctx.out.json && line.type !== 'waiting') ctx.out.line(JSON.stringify(line));
      if (line.type === 'claimed') {
        claimId = line.claim_id;
        readAnswers(line.claim_id);
        if (!ctx.out.json) say(`answering ${line.project_name}'s chat (127.0.0.1:${line.socket_port}) instead of its model: type a line to answer the oldest question; Ctrl-D or Ctrl-C gives it back`);
      } else if (line.type === 'question') {
        waiting.push(line.question_id);
        if (!ctx.out.json) ctx.out.line(`? ${line.content}`);
      } else if (line.type === 'released') {
        throw new CliError(`the chat went back to the model: ${line.reason}`, ExitCode.error);
      }
    }
    if (!stop.signal.aborted) throw new CliError('the gateway ended the stream; the chat is back with the model', ExitCode.unavailable);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`lost the gateway (${(err as Error).message}): the chat goes back to the model within its lease`, ExitCode.unavailable);
  } finally {
    input?.close();
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
  if (exitCode !== ExitCode.ok) process.exitCode = exitCode;
}
