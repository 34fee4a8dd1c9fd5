import type { ChangeEvent, ChangeSink } from '@brisk/cdc';
import type { Lsn } from '@brisk/core';

/**
 * Embedded mode's hand-off, the analogue of Debezium's embedded engine: the connector's events are passed to
 * the engine as the same objects, with no serialisation, and a batch counts as durable when the engine's
 * promise resolves. The end-of-transaction LSN travels along as the store's checkpoint.
 */
export type EventHandler = (events: readonly ChangeEvent[], checkpoint: Lsn | null) => Promise<void>;

export function inProcessBus(handler: EventHandler): ChangeSink {
  return {
    write: (batch) =>
      handler(
        batch.changes.map((change) => change.event),
        batch.endLsn,
      ),
  };
}
