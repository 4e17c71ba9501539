// Cronium's runtime helpers for Node.js scripts.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ExecutionContext {
  execution_id: number;
  event_id: number;
  event_name: string;
  language: 'bash' | 'python' | 'node';
  attempt: number;
  trigger: string;
  scheduled_at: string | null;
  owner_id: number;
  // the same under the names of Cronium's documentation
  id: string;
  name: string;
  type: 'BASH' | 'PYTHON' | 'NODEJS';
  userId: string;
  executionId: string;
  eventId: string;
  eventName: string;
  eventType: 'BASH' | 'PYTHON' | 'NODEJS';
  metadata: { attempt: number; trigger: string; scheduledAt: string | null };
}
/** Cronium's name for the context. */
export type EventContext = ExecutionContext;

/** What a tool action answers once the delivery was made. */
export interface Delivery {
  delivery_id: number;
  status: 'sent';
  tool: string;
  action: string;
  target: string | null;
  code: number | null;
  reply: string | null;
  attempts: number;
}

/** `tool`: one of your tools by name, instead of your tool of the kind. */
export interface EmailOptions {
  to: string | string[];
  subject: string;
  body: string;
  cc?: string | string[];
  bcc?: string | string[];
  html?: Json;
  reply_to?: string;
  attachments?: Json[];
  tool?: string;
  [key: string]: Json | undefined;
}

export interface SlackOptions {
  channel: string;
  text: string;
  blocks?: Json[];
  username?: string;
  icon_emoji?: string;
  tool?: string;
  [key: string]: Json | undefined;
}

/** `channelId` (or `channel_id`). */
export interface DiscordOptions {
  channelId?: string;
  channel_id?: string;
  content: string;
  embeds?: Json[];
  username?: string;
  tool?: string;
  [key: string]: Json | undefined;
}

export class CroniumError extends Error {}
export class CroniumAPIError extends CroniumError {
  status: number;
  /** The same as `status`, under the name of Cronium's documentation. */
  statusCode: number;
  apiMessage: string;
}
/** The runtime API did not answer in time (never retried: the call may have been done). */
export class CroniumTimeoutError extends CroniumError {}

export interface Helpers {
  /** The run's input: the previous step's output, the webhook's body, or the manual input. */
  input(): Promise<Json>;
  /** Hand data on to the next step; stored with the execution. NaN and infinities are refused. */
  output(data: Json): Promise<void>;
  /** One of your variables, or `fallback` (default null) if it is not set. */
  getVariable(key: string, fallback?: Json): Promise<Json>;
  /** Set one of your variables; the next execution sees it. The last write wins. NaN and
   * infinities are refused (JSON has no such numbers). */
  setVariable(key: string, value: Json): Promise<void>;
  /** Delete a variable; whether it was set. */
  deleteVariable(key: string): Promise<boolean>;
  listVariables(): Promise<{ [key: string]: Json }>;
  /** Choose the branch: workflow edges ON_CONDITION follow it. */
  setCondition(condition: boolean): Promise<void>;
  getCondition(): Promise<boolean | null>;
  event(): Promise<ExecutionContext>;
  /** Run an action of a tool (one of yours by name, or a kind: slack, discord, teams, email,
   * webhook) with its params (Cronium's documentation calls them config). */
  executeToolAction(tool: string, action: string, params?: { [key: string]: Json }): Promise<Delivery>;
  sendEmail(options: EmailOptions): Promise<Delivery>;
  sendSlackMessage(options: SlackOptions): Promise<Delivery>;
  sendDiscordMessage(options: DiscordOptions): Promise<Delivery>;
}

/** Every function as a method. */
export interface Cronium extends Helpers {}
export class Cronium {
  constructor();
}

/** The module's own instance. */
export const cronium: Cronium;

export const input: Helpers['input'];
export const output: Helpers['output'];
export const getVariable: Helpers['getVariable'];
export const setVariable: Helpers['setVariable'];
export const deleteVariable: Helpers['deleteVariable'];
export const listVariables: Helpers['listVariables'];
export const setCondition: Helpers['setCondition'];
export const getCondition: Helpers['getCondition'];
export const event: Helpers['event'];
export const executeToolAction: Helpers['executeToolAction'];
export const sendEmail: Helpers['sendEmail'];
export const sendSlackMessage: Helpers['sendSlackMessage'];
export const sendDiscordMessage: Helpers['sendDiscordMessage'];

/** The module itself: the class Cronium, carrying every function. */
declare const helpers: typeof Cronium &
  Helpers & {
    Cronium: typeof Cronium;
    cronium: Cronium;
    CroniumError: typeof CroniumError;
    CroniumAPIError: typeof CroniumAPIError;
    CroniumTimeoutError: typeof CroniumTimeoutError;
  };
export default helpers;
