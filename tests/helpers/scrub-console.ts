/**
 * In every test worker, console output goes through the connector's console scrub before it
 * reaches the terminal or CI's log: libsignal prints whole session records (private keys
 * included) with console.info, and tests that drive Baileys without a connector would otherwise
 * print them (docs/invariants.md, invariant 4: no secret in a log, a CI log included). What tests
 * print themselves still shows, as a scrubbed pino line on stdout.
 */
import { pino } from 'pino';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';

installConsoleScrub(pino({ level: 'info', base: undefined, timestamp: false }));
