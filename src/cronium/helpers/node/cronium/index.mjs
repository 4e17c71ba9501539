// Cronium's runtime helpers as an ES module: import { input, output } from 'cronium';
// or import cronium from 'cronium'. The same module as require('cronium'), not a copy.
import cronium from './index.js';

export const {
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
  Cronium,
  CroniumError,
  CroniumAPIError,
  CroniumTimeoutError,
} = cronium;
const instance = cronium.cronium;
export { instance as cronium };
export default cronium;
