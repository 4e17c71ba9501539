// Cronium's runtime helpers for Node.js scripts. The module is the class Cronium (module.exports),
// carrying every function, the errors and an instance: require('cronium'), new Cronium(),
// import { input } from 'cronium', import Cronium from 'cronium'.

type CroniumClass = typeof Cronium;

declare namespace Cronium {
  type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

  interface ExecutionContext {
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
  type EventContext = ExecutionContext;

  /** What a tool action answers once the delivery was made. */
  interface Delivery {
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
  interface EmailOptions {
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

  interface SlackOptions {
    channel: string;
    text: string;
    blocks?: Json[];
    username?: string;
    icon_emoji?: string;
    tool?: string;
    [key: string]: Json | undefined;
  }

  /** `channelId` (or `channel_id`). */
  interface DiscordOptions {
    channelId?: string;
    channel_id?: string;
    content: string;
    embeds?: Json[];
    username?: string;
    tool?: string;
    [key: string]: Json | undefined;
  }

  class CroniumError extends Error {}
  class CroniumAPIError extends CroniumError {
    status: number;
    /** The same as `status`, under the name of Cronium's documentation. */
    statusCode: number;
    apiMessage: string;
  }
  /** The runtime API did not answer in time (never retried: the call may have been done). */
  class CroniumTimeoutError extends CroniumError {}

  interface Helpers {
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

  const input: Helpers['input'];
  const output: Helpers['output'];
  const getVariable: Helpers['getVariable'];
  const setVariable: Helpers['setVariable'];
  const deleteVariable: Helpers['deleteVariable'];
  const listVariables: Helpers['listVariables'];
  const setCondition: Helpers['setCondition'];
  const getCondition: Helpers['getCondition'];
  const event: Helpers['event'];
  const executeToolAction: Helpers['executeToolAction'];
  const sendEmail: Helpers['sendEmail'];
  const sendSlackMessage: Helpers['sendSlackMessage'];
  const sendDiscordMessage: Helpers['sendDiscordMessage'];
  /** The module's own instance. */
  const cronium: Cronium;
  const Cronium: CroniumClass;
}

/** Every function as a method. */
interface Cronium extends Cronium.Helpers {}
declare class Cronium {
  constructor();
}

export = Cronium;
