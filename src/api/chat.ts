// Conversations turned into a prompt. When the model directory carries a Hugging Face tokenizer_config.json
// with a `chat_template`, that Jinja template is rendered (special tokens it writes, such as its EOS text,
// become their ids); otherwise the plain format below, which any model trained on prose can continue:
//
//   <EOS>System: {content}\n\nUser: {content}\n\nAssistant: {content}\n\nUser: {content}\n\nAssistant:
//
// (the document-start token, then one "Role: content" paragraph per message, ending with "Assistant:";
// the answer stops at EOS or where the model starts a "\nUser:" or "\nSystem:" line).
// History is trimmed from the oldest turn (a system message stays) to what the model can see at all.

import { Template } from '@huggingface/jinja';
import { type SwatConfig, receptiveField } from '../config.js';
import { FormatError, InputError, showValue } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export const CHAT_ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];
export const TEMPLATE_FILE = 'tokenizer_config.json';
const PLAIN_NAMES: Record<ChatRole, string> = { system: 'System', user: 'User', assistant: 'Assistant' };
const PLAIN_STOPS = ['\nUser:', '\nSystem:'];

export interface ChatFormat {
  /** 'template' (the model's chat_template) or 'plain'. */
  kind: 'template' | 'plain';
  /** The prompt ids of a conversation, ready for the assistant's next answer. */
  encode(messages: readonly ChatMessage[]): number[];
  /** Stop strings that end an answer (besides EOS). */
  stop: readonly string[];
}

export function checkMessages(messages: unknown, where = 'messages'): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new InputError(`${where} must be a non-empty list of {role, content}`);
  return messages.map((m: unknown, i) => {
    const x = m as Partial<ChatMessage> | null;
    if (typeof x !== 'object' || x === null) throw new InputError(`${where}[${i}] must be an object {role, content}`);
    if (!CHAT_ROLES.includes(x.role as ChatRole)) throw new InputError(`${where}[${i}].role must be one of ${CHAT_ROLES.join(', ')}, got ${showValue(String(x.role))}`);
    if (typeof x.content !== 'string') throw new InputError(`${where}[${i}].content must be a string`);
    return { role: x.role as ChatRole, content: x.content };
  });
}

/** A model directory's tokenizer_config.json: where it is (for messages) and its text. */
export interface ChatTemplate {
  path: string;
  text: string;
}

/** The chat format of a model directory: the template of its tokenizer_config.json when it has one (null:
 *  no such file), else the plain format. */
export function chatFormat(file: ChatTemplate | null, config: SwatConfig, tokenizer: Tokenizer): ChatFormat {
  const docStart = config.eos_token_id ?? config.bos_token_id ?? tokenizer.eosId;
  if (file === null) return plainFormat(tokenizer, docStart);
  const { path } = file;
  let root: Record<string, unknown>;
  try {
    root = JSON.parse(file.text) as Record<string, unknown>;
  } catch (e) {
    throw new FormatError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof root !== 'object' || root === null) throw new FormatError(`${path}: expected a JSON object`);
  const source = templateSource(root['chat_template'], path);
  if (source === null) return plainFormat(tokenizer, docStart);
  let template: Template;
  try {
    template = new Template(source);
  } catch (e) {
    throw new FormatError(`${path}: chat_template does not parse: ${(e as Error).message}`);
  }
  const specials = specialTokens(tokenizer);
  const tokenText = (field: string) => {
    const v = root[field];
    return typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : '';
  };
  return {
    kind: 'template',
    stop: [],
    encode(messages) {
      let text: string;
      try {
        text = template.render({ messages, add_generation_prompt: true, bos_token: tokenText('bos_token'), eos_token: tokenText('eos_token') });
      } catch (e) {
        throw new InputError(`${path}: chat_template failed on these messages: ${(e as Error).message}`);
      }
      return encodeWithSpecials(tokenizer, text, specials);
    },
  };
}

/** chat_template is a string, or a list of named templates of which "default" (else the first) is used. */
function templateSource(value: unknown, path: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    const named = value as { name?: unknown; template?: unknown }[];
    const pick = named.find((t) => t?.name === 'default') ?? named[0];
    if (pick && typeof pick.template === 'string') return pick.template;
  }
  throw new FormatError(`${path}: chat_template must be a string or a list of {name, template}`);
}

function plainFormat(tokenizer: Tokenizer, docStart: number): ChatFormat {
  return {
    kind: 'plain',
    stop: PLAIN_STOPS,
    encode(messages) {
      const text = messages.map((m) => `${PLAIN_NAMES[m.role]}: ${m.content}\n\n`).join('') + `${PLAIN_NAMES.assistant}:`;
      return [docStart, ...tokenizer.encode(text)];
    },
  };
}

/** The tokenizer's special tokens (content → id), longest first, from its tokenizer.json. */
function specialTokens(tokenizer: Tokenizer): [string, number][] {
  const added = (tokenizer.toJSON() as { added_tokens?: { id: number; content: string; special?: boolean }[] }).added_tokens ?? [];
  return added.filter((t) => t.special !== false && t.content !== '').map((t): [string, number] => [t.content, t.id]).sort((a, b) => b[0].length - a[0].length);
}

/** Ids of template output: the special tokens' texts become their ids, the text between them is encoded. */
export function encodeWithSpecials(tokenizer: Tokenizer, text: string, specials: readonly [string, number][]): number[] {
  const ids: number[] = [];
  let rest = text;
  while (rest.length > 0) {
    let at = -1;
    let hit: [string, number] | null = null;
    for (const s of specials) {
      const i = rest.indexOf(s[0]);
      if (i >= 0 && (at < 0 || i < at)) [at, hit] = [i, s];
    }
    if (!hit) {
      ids.push(...tokenizer.encode(rest));
      break;
    }
    ids.push(...tokenizer.encode(rest.slice(0, at)), hit[1]);
    rest = rest.slice(at + hit[0].length);
  }
  return ids;
}

/** The conversation without its oldest turns (system messages stay) so that its prompt fits `budget`
 *  tokens, keeping at least the last message. */
export function trimHistory(format: ChatFormat, messages: readonly ChatMessage[], budget: number): ChatMessage[] {
  let kept = [...messages];
  while (kept.length > 1 && format.encode(kept).length > budget) {
    const oldest = kept.findIndex((m, i) => m.role !== 'system' && i < kept.length - 1);
    if (oldest < 0) break;
    kept = kept.filter((_, i) => i !== oldest);
  }
  return kept;
}

/** Tokens of history worth keeping: what can still influence the next token (the receptive field of
 *  SWAT.md §3.2), or the trained positions of a full-attention model. */
export function historyBudget(config: SwatConfig): number {
  return receptiveField(config) ?? config.max_position_embeddings;
}
