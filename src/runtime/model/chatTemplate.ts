// Conversations as the chat template expects them: validation, the optional system prompt, and the files the
// CLI reads (--messages: one conversation; --prompts: an evaluation set, one prompt or conversation per item).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { ChatMessage, ChatRole } from '../../protocol/chatMethods';
import { UserError } from '../errors';

export type { ChatMessage, ChatRole };

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/** Checks one conversation's shape; `where` names its source in the message (file, line, field). */
export function validateMessages(value: unknown, where: string): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new UserError('bad-messages', `${where}: expected a non-empty list of {"role", "content"} messages.`);
  }
  return value.map((m, i) => {
    const role = (m as { role?: unknown } | null)?.role;
    const content = (m as { content?: unknown } | null)?.content;
    if (typeof role !== 'string' || !ROLES.includes(role as ChatRole)) {
      throw new UserError('bad-messages', `${where}: message ${i + 1} has role ${JSON.stringify(role)}; use "system", "user" or "assistant".`);
    }
    if (typeof content !== 'string') {
      throw new UserError('bad-messages', `${where}: message ${i + 1} needs "content" as a string.`);
    }
    return { role: role as ChatRole, content };
  });
}

/** Puts `system` first (replacing a system message already there); no-op when `system` is empty/undefined. */
export function withSystemPrompt(messages: readonly ChatMessage[], system: string | undefined): ChatMessage[] {
  if (!system) return [...messages];
  const rest = messages[0]?.role === 'system' ? messages.slice(1) : messages;
  return [{ role: 'system', content: system }, ...rest];
}

/** Messages ending in a user turn are what generation answers; an assistant turn last would be continued. */
export function assertEndsWithUser(messages: readonly ChatMessage[], where: string): void {
  if (messages[messages.length - 1]?.role !== 'user') {
    throw new UserError('bad-messages', `${where}: the last message must be from "user" (the model answers it).`);
  }
}

/** --messages FILE: a JSON list of messages, or an object {"messages": [...]} (the training-data line format). */
export function readMessagesFile(file: string): ChatMessage[] {
  const text = readText(file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UserError('bad-messages', `${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}). It must hold [{"role":"user","content":"..."}] or {"messages": [...]}.`);
  }
  return validateMessages(Array.isArray(json) ? json : (json as { messages?: unknown } | null)?.messages, file);
}

/** One item of an evaluation set: a bare prompt (becomes one user turn) or a whole conversation. */
export type PromptItem = { prompt: string } | { messages: ChatMessage[] };

/**
 * --prompts FILE. `.txt`: one prompt per non-empty line. `.json`: a list of strings or of {prompt}/{messages}
 * objects. `.jsonl`: one string or object per line.
 */
export function readPromptsFile(file: string): PromptItem[] {
  const text = readText(file);
  const ext = extname(file).toLowerCase();
  if (ext === '.txt' || ext === '') {
    const prompts = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    if (prompts.length === 0) throw new UserError('bad-prompts', `${file} has no prompts (one per line expected).`);
    return prompts.map((prompt) => ({ prompt }));
  }
  if (ext === '.json') {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new UserError('bad-prompts', `${file} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
    }
    if (!Array.isArray(json) || json.length === 0) throw new UserError('bad-prompts', `${file}: expected a non-empty JSON list of prompts.`);
    return json.map((item, i) => toPromptItem(item, `${file} item ${i + 1}`));
  }
  if (ext === '.jsonl') {
    const items: PromptItem[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch (err) {
        throw new UserError('bad-prompts', `${file}:${i + 1} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
      }
      items.push(toPromptItem(json, `${file}:${i + 1}`));
    });
    if (items.length === 0) throw new UserError('bad-prompts', `${file} has no prompts.`);
    return items;
  }
  throw new UserError('bad-prompts', `${file}: unknown prompts format "${ext}". Use .txt (one per line), .json or .jsonl.`);
}

function toPromptItem(item: unknown, where: string): PromptItem {
  if (typeof item === 'string') return { prompt: item };
  if (item && typeof item === 'object') {
    const o = item as { prompt?: unknown; question?: unknown; messages?: unknown };
    if (typeof o.prompt === 'string') return { prompt: o.prompt };
    if (typeof o.question === 'string') return { prompt: o.question };
    if (o.messages !== undefined) return { messages: validateMessages(o.messages, where) };
  }
  throw new UserError('bad-prompts', `${where}: expected a string, {"prompt": "..."} or {"messages": [...]}.`);
}

/** The conversation for one item, with the system prompt applied. */
export function itemMessages(item: PromptItem, system?: string): ChatMessage[] {
  const messages = 'prompt' in item ? [{ role: 'user' as const, content: item.prompt }] : item.messages;
  return withSystemPrompt(messages, system);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError('file-not-found', `Cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}. Check the path.`);
  }
}
