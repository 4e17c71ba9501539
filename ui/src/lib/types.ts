// The API's types, generated from its OpenAPI description (`make ui-schema` rewrites schema.d.ts).
import type { components } from "./schema";

type S = components["schemas"];
export type User = S["UserPublic"];
export type Event = S["EventPublic"];
export type EventVersion = S["EventVersionPublic"];
export type Execution = S["ExecutionPublic"];
export type ExecutionStatus = Execution["status"];
export type LogLine = S["LogLinePublic"];
export type WorkflowRun = S["WorkflowRunPublic"];
export type NodeRun = S["NodeRunPublic"];
export type NextFires = S["NextFires"];
export type UpcomingFire = S["UpcomingFire"];
export type QueueState = S["QueuePublic"];
export type Token = S["TokenPublic"];
export type TokenIssued = S["TokenIssued"];
export type Tool = S["ToolPublic"];
export type Delivery = S["DeliveryPublic"];
export type Variable = S["VariablePublic"];
export type Worker = S["WorkerPublic"];
export type Audit = S["AuditPublic"];
export type Share = S["SharePublic"];
export type WebhookIssued = S["WebhookIssued"];
export type LoginAnswer = S["LoginAnswer"];

export const ENDED: ReadonlySet<string> = new Set(["succeeded", "failed", "timed_out", "cancelled"]);
