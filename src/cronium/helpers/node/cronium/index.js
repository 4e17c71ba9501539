'use strict';
// Cronium's runtime helpers for Node.js scripts:
//
//   const cronium = require('cronium');        // or: import { input, output } from 'cronium';
//   const data = await cronium.input();
//   await cronium.setVariable('count', 1);
//   await cronium.output({ ok: true });
//   await cronium.sendSlackMessage({ channel: '#ops', text: 'done' });
//
// The module is the class Cronium, whose instances (new Cronium(), or cronium.cronium) have
// every function as a method. Promise-based, built-in modules only. Errors reject with
// CroniumError; CroniumAPIError (with .status and .statusCode) when the runtime API answered
// with an error; CroniumTimeoutError when it did not answer in time (never retried).
// Connection failures and 503 answers are retried with backoff.

const http = require('http');
const fs = require('fs');

const RETRY_DELAYS = [50, 200, 500];
const INPUT_FILE = '/run/cronium/input.json';
const TIMEOUT_MS = 60 * 1000;
// A tool action waits for the delivery, retries included: the server gives it minutes.
const TOOL_ACTION_TIMEOUT_MS = 300 * 1000;

class CroniumError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CroniumError';
  }
}

class CroniumAPIError extends CroniumError {
  constructor(status, message) {
    super(`${message} (HTTP ${status})`);
    this.name = 'CroniumAPIError';
    this.status = status;
    this.statusCode = status;
    this.apiMessage = message;
  }
}

class CroniumTimeoutError extends CroniumError {
  constructor(message) {
    super(message);
    this.name = 'CroniumTimeoutError';
  }
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

function readToken() {
  // the run's token: from the file its sandbox holds
  try {
    const file = process.env.CRONIUM_EXECUTION_TOKEN_FILE || '/run/cronium/token';
    return fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    return '';
  }
}

function settings() {
  return {
    url: process.env.CRONIUM_RUNTIME_API || '',
    token: process.env.CRONIUM_EXECUTION_TOKEN || readToken(),
    executionId: process.env.CRONIUM_EXECUTION_ID || '',
  };
}

function send(socketPath, token, method, path, payload, timeout) {
  return new Promise((resolve, reject) => {
    const headers = { Authorization: `Bearer ${token}` };
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const request = http.request({ socketPath, path, method, headers, agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => resolve([response.statusCode, Buffer.concat(chunks).toString('utf8')]));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.setTimeout(timeout, () => {
      const seconds = timeout / 1000;
      request.destroy(new CroniumTimeoutError(`the runtime API did not answer ${method} ${path} within ${seconds} s`));
    });
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

function unwrap(status, text) {
  let document;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new CroniumAPIError(status, text || 'no answer');
  }
  if (status >= 400 || !document.success) {
    const message = (document.error && document.error.message) || 'the runtime API refused';
    throw new CroniumAPIError(status, message);
  }
  return document.data === undefined ? null : document.data;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(method, path, body, timeout = TIMEOUT_MS) {
  const { url, token } = settings();
  if (!url.startsWith('unix://')) {
    throw new CroniumError(
      'there is no runtime API here (CRONIUM_RUNTIME_API is not set): ' +
        'the helpers work in scripts that Cronium runs',
    );
  }
  const payload = body === undefined ? undefined : encode(body);
  const socketPath = url.slice('unix://'.length);
  for (let attempt = 0; ; attempt += 1) {
    const delay = RETRY_DELAYS[attempt];
    let status;
    let text;
    try {
      [status, text] = await send(socketPath, token, method, path, payload, timeout);
    } catch (error) {
      if (error instanceof CroniumTimeoutError) throw error;
      if (delay === undefined) throw new CroniumError(`cannot reach the runtime API: ${error.message}`);
      await sleep(delay);
      continue;
    }
    if (status === 503 && delay !== undefined) {
      await sleep(delay);
      continue;
    }
    return unwrap(status, text);
  }
}

const executionPath = (suffix) => `/executions/${settings().executionId}/${suffix}`;

function key(name) {
  if (typeof name !== 'string' || name === '') {
    throw new CroniumError(`a variable key must be a non-empty string, not ${JSON.stringify(name)}`);
  }
  return encodeURIComponent(name);
}

function finiteNumbers(name, value) {
  // JSON.stringify's replacer: refuse what it would quietly turn into null
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error('NaN and infinities are not JSON numbers (store null, or the number as a string)');
  }
  return value;
}

function encode(body) {
  // body as JSON, strictly: what Python and Bash read back as the same value, or a CroniumError
  try {
    return JSON.stringify(body, finiteNumbers);
  } catch (error) {
    throw new CroniumError(`the value cannot be stored as JSON: ${error.message}`);
  }
}

function jsonable(value) {
  // a value to send, refused as a whole if JSON cannot hold it (undefined, a function)
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new CroniumError(`the value cannot be stored as JSON: ${typeof value} is not JSON`);
  }
  return value;
}

async function input() {
  if (!settings().url && fs.existsSync(INPUT_FILE)) {
    return JSON.parse(fs.readFileSync(INPUT_FILE, 'utf8'));
  }
  return call('GET', executionPath('input'));
}

async function output(data) {
  await call('POST', executionPath('output'), { data: jsonable(data) });
}

async function getVariable(name, fallback = null) {
  try {
    return await call('GET', executionPath(`variables/${key(name)}`));
  } catch (error) {
    if (error instanceof CroniumAPIError && error.status === 404) return fallback;
    throw error;
  }
}

async function setVariable(name, value) {
  await call('PUT', executionPath(`variables/${key(name)}`), { value: jsonable(value) });
}

async function deleteVariable(name) {
  try {
    await call('DELETE', executionPath(`variables/${key(name)}`));
    return true;
  } catch (error) {
    if (error instanceof CroniumAPIError && error.status === 404) return false;
    throw error;
  }
}

const listVariables = () => call('GET', executionPath('variables'));

async function setCondition(condition) {
  if (typeof condition !== 'boolean') {
    throw new CroniumError(`the condition must be true or false, not ${JSON.stringify(condition)}`);
  }
  await call('POST', executionPath('condition'), { condition });
}

const getCondition = () => call('GET', executionPath('condition'));
const event = () => call('GET', executionPath('context'));

async function executeToolAction(tool, action, params = {}) {
  // params: the action's parameters (Cronium's documentation calls them config)
  const body = { tool, action, params: params || {} };
  return call('POST', '/tool-actions/execute', body, TOOL_ACTION_TIMEOUT_MS);
}

function options(name, given) {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new CroniumError(`${name} takes one object of options, not ${JSON.stringify(given)}`);
  }
  return given;
}

async function sendEmail(given) {
  // { to, subject, body, cc, bcc, html, reply_to, attachments, tool }
  // html: true (Cronium's flag): the body is HTML
  const { to, subject, body, tool, ...rest } = options('sendEmail', given);
  const params = { to, subject, body, ...rest };
  if (params.html === true) {
    params.html = body;
    delete params.body;
  }
  return executeToolAction(tool || 'email', 'send_email', params);
}

async function sendSlackMessage(given) {
  // { channel, text, blocks, username, icon_emoji, tool }
  const { channel, text, tool, ...rest } = options('sendSlackMessage', given);
  return executeToolAction(tool || 'slack', 'send_message', { channel, text, ...rest });
}

async function sendDiscordMessage(given) {
  // { channelId (or channel_id), content, embeds, username, tool }
  const { channelId, channel_id: channelIdAsSent, content, tool, ...rest } = options(
    'sendDiscordMessage',
    given,
  );
  const id = channelId === undefined ? channelIdAsSent : channelId;
  return executeToolAction(tool || 'discord', 'send_message', { channel_id: id, content, ...rest });
}

const functions = {
  input,
  output,
  getVariable,
  setVariable,
  deleteVariable,
  listVariables,
  setCondition,
  getCondition,
  event,
  executeToolAction,
  sendEmail,
  sendSlackMessage,
  sendDiscordMessage,
};

// Every function as a method: new Cronium() (Cronium's documented form), or cronium.cronium.
class Cronium {}
Object.assign(Cronium.prototype, functions);
const cronium = new Cronium();

// The module is the class, carrying every function, the errors and the instance, so that
// require('cronium').input(), new (require('cronium'))() and destructuring all work.
module.exports = Object.assign(Cronium, functions, {
  Cronium,
  cronium,
  default: Cronium,
  CroniumError,
  CroniumAPIError,
  CroniumTimeoutError,
});
