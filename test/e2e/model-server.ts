import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A scripted OpenAI chat-completions server on loopback, standing in for the agent's model (issue 10, "facts for the
 * harness"). A test registers a script under a trigger word; a prompt whose last real user message carries that word
 * gets one `exec` tool call, then — once a `tool` message follows that prompt — a final text quoting the tool output.
 * Every other prompt (session bootstrap, background runs) gets plain text, so the agent never loops.
 */

export interface TurnScript {
  /** The command the model asks the exec tool to run. */
  command: string;
  /** Extra arguments for the exec tool call (e.g. `{ host: 'node' }`). */
  toolArgs?: Record<string, unknown>;
  /**
   * Several exec calls in one turn, in order, each with exactly these arguments (`command` and `toolArgs` are then
   * ignored): call k+1 once k tool results follow the prompt, the final text after the last.
   */
  calls?: Array<Record<string, unknown>>;
  /** The final text, given the tool message's content; default `RESULT: <content>`. */
  finalText?: (toolOutput: string) => string;
}

export interface ModelRequestLog {
  trigger: string | null;
  answered: 'tool-call' | 'final' | 'plain';
  stream: boolean;
  toolOutput?: string;
}

export interface ModelServer {
  baseUrl: string;
  port: number;
  /** Registers a turn; the returned word must appear in the user's message. */
  script(trigger: string, script: TurnScript): void;
  requests: ModelRequestLog[];
  /** The tool outputs the model was shown for a trigger (what the agent's exec tool returned). */
  toolOutputs(trigger: string): string[];
  close(): Promise<void>;
}

export const MODEL_PROVIDER = 'e2emodel';
export const MODEL_ID = 'scripted-1';

const INTERNAL_CONTEXT = '<<<BEGIN_OPENCLAW_INTERNAL_CONTEXT>>>';

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((part) => (typeof part === 'string' ? part : typeof part?.text === 'string' ? part.text : ''))
      .join('');
  return '';
}

/** `host`: where it listens (default loopback; a test's own veth address for an agent in a network namespace). */
export async function startModelServer(host = '127.0.0.1'): Promise<ModelServer> {
  const scripts = new Map<string, TurnScript>();
  const requests: ModelRequestLog[] = [];
  let calls = 0;

  const decide = (
    body: any,
  ): {
    trigger: string | null;
    reply: { kind: 'tool'; name: string; args: string } | { kind: 'text'; text: string };
    toolOutput?: string;
  } => {
    const messages: any[] = Array.isArray(body?.messages) ? body.messages : [];
    let lastUser = -1;
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m?.role === 'user' && !textOf(m.content).trimStart().startsWith(INTERNAL_CONTEXT)) {
        lastUser = i;
        break;
      }
    }
    const prompt = lastUser >= 0 ? textOf(messages[lastUser].content) : '';
    const trigger = [...scripts.keys()].find((word) => prompt.includes(word)) ?? null;
    if (!trigger) return { trigger: null, reply: { kind: 'text', text: 'Nothing to do.' } };
    const script = scripts.get(trigger)!;
    const tools = messages.slice(lastUser + 1).filter((m) => m?.role === 'tool');
    const calls = script.calls ?? [{ command: script.command, ...(script.toolArgs ?? {}) }];
    // The newest tool result (the one this request answers); the final text quotes them all.
    const latest = tools.length ? textOf(tools[tools.length - 1].content) : undefined;
    if (tools.length >= calls.length) {
      const output = tools.map((m) => textOf(m.content)).join('\n');
      return {
        trigger,
        toolOutput: latest,
        reply: { kind: 'text', text: script.finalText ? script.finalText(output) : `RESULT: ${output}` },
      };
    }
    const offered: any[] = Array.isArray(body?.tools) ? body.tools : [];
    const exec = offered.find((t) => t?.function?.name === 'exec');
    if (!exec)
      return {
        trigger,
        reply: { kind: 'text', text: `NO-EXEC-TOOL offered (${offered.map((t) => t?.function?.name).join(', ')})` },
      };
    return {
      trigger,
      ...(latest !== undefined ? { toolOutput: latest } : {}),
      reply: { kind: 'tool', name: 'exec', args: JSON.stringify(calls[tools.length]) },
    };
  };

  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      if (req.method === 'GET' && req.url?.endsWith('/models')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: MODEL_ID, object: 'model', owned_by: 'e2e' }] }));
        return;
      }
      if (req.method !== 'POST' || !req.url?.includes('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `not found: ${req.method} ${req.url}` } }));
        return;
      }
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'invalid JSON' } }));
        return;
      }
      const { trigger, reply, toolOutput } = decide(body);
      const stream = body.stream === true;
      requests.push({
        trigger,
        answered: reply.kind === 'tool' ? 'tool-call' : trigger ? 'final' : 'plain',
        stream,
        ...(toolOutput !== undefined ? { toolOutput } : {}),
      });
      const id = `chatcmpl-e2e-${++calls}`;
      const created = Math.floor(Date.now() / 1000);
      const toolCall =
        reply.kind === 'tool'
          ? { id: `call_e2e_${calls}`, type: 'function', function: { name: reply.name, arguments: reply.args } }
          : undefined;
      const finish = reply.kind === 'tool' ? 'tool_calls' : 'stop';
      const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id,
            object: 'chat.completion',
            created,
            model: MODEL_ID,
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: reply.kind === 'text' ? reply.text : null,
                  ...(toolCall ? { tool_calls: [toolCall] } : {}),
                },
                finish_reason: finish,
              },
            ],
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      const chunk = (
        delta: Record<string, unknown>,
        finishReason: string | null,
        extra: Record<string, unknown> = {},
      ) =>
        res.write(
          `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: MODEL_ID, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`,
        );
      chunk({ role: 'assistant', content: '' }, null);
      if (toolCall) chunk({ tool_calls: [{ index: 0, ...toolCall }] }, null);
      else chunk({ content: (reply as { text: string }).text }, null);
      chunk({}, finish, { usage });
      res.write('data: [DONE]\n\n');
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://${host}:${port}/v1`,
    port,
    script: (trigger, script) => void scripts.set(trigger, script),
    requests,
    toolOutputs: (trigger) =>
      requests.filter((r) => r.trigger === trigger && r.toolOutput !== undefined).map((r) => r.toolOutput!),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
