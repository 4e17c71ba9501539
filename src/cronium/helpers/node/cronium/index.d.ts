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
}

export class CroniumError extends Error {}
export class CroniumAPIError extends CroniumError {
  status: number;
  apiMessage: string;
}

/** The run's input: the previous step's output, the webhook's body, or the manual input. */
export function input(): Promise<Json>;
/** Hand data on to the next step; stored with the execution. NaN and infinities are refused. */
export function output(data: Json): Promise<void>;
/** One of your variables, or `fallback` (default null) if it is not set. */
export function getVariable(key: string, fallback?: Json): Promise<Json>;
/** Set one of your variables; the next execution sees it. The last write wins. NaN and
 * infinities are refused (JSON has no such numbers). */
export function setVariable(key: string, value: Json): Promise<void>;
/** Delete a variable; whether it was set. */
export function deleteVariable(key: string): Promise<boolean>;
export function listVariables(): Promise<{ [key: string]: Json }>;
/** Choose the branch: workflow edges ON_CONDITION follow it. */
export function setCondition(condition: boolean): Promise<void>;
export function getCondition(): Promise<boolean | null>;
export function event(): Promise<ExecutionContext>;
export function executeToolAction(tool: string, action: string, params?: { [key: string]: Json }): Promise<Json>;
