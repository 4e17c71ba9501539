'use strict';
// Cronium's runtime helpers for Node.js scripts: const cronium = require('cronium');
//
//   const data = await cronium.input();
//   await cronium.setVariable('count', 1);
//   await cronium.output({ ok: true });
//
// Promise-based, built-in modules only. Errors reject with CroniumError, or CroniumAPIError
// (with the status code) when the runtime API answered with an error. Connection failures and
// 503 answers are retried with backoff.

const http = require('http');
const fs = require('fs');

const RETRY_DELAYS = [50, 200, 500];
const INPUT_FILE = '/run/cronium/input.json';

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
    this.apiMessage = message;
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

function send(socketPath, token, method, path, payload) {
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

async function call(method, path, body) {
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
      [status, text] = await send(socketPath, token, method, path, payload);
    } catch (error) {
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
const executeToolAction = (tool, action, params = {}) =>
  call('POST', '/tool-actions/execute', { tool, action, params });

module.exports = {
  CroniumError,
  CroniumAPIError,
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
};
