import type { ApiHandler, BrokerServices } from './api-handler.ts';
import type { LongPollEnd } from './broker-activity.ts';
import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';
import { ProtocolWriter } from './protocol-writer.ts';
import { decodeRecordBatch, InvalidRecordBatchError, splitRecordBatches } from './record-batch.ts';

interface ProducePartition {
  partition: number;
  records: Buffer | null;
}

interface ProduceRequest {
  acks: number;
  topics: { name: string; partitions: ProducePartition[] }[];
}

interface ProducePartitionResult {
  partition: number;
  errorCode: ErrorCodeValue;
  baseOffset: number;
}

/** Produce v7 (record batch v2). With one replica, acks=1 and acks=-1 mean the same. */
export function produce(services: BrokerServices): ApiHandler<ProduceRequest> {
  const appendPartition = (topic: string, { partition, records }: ProducePartition): ProducePartitionResult => {
    const log = services.topics.partition(topic, partition);
    if (!log) return { partition, errorCode: ErrorCode.unknownTopicOrPartition, baseOffset: -1 };
    try {
      const batches = splitRecordBatches(records ?? Buffer.alloc(0));
      // Kafka accepts exactly one batch per partition from v3 on.
      const [batch] = batches;
      if (batch === undefined || batches.length !== 1) return { partition, errorCode: ErrorCode.invalidRecord, baseOffset: -1 };
      const decoded = decodeRecordBatch(batch);
      return { partition, errorCode: ErrorCode.none, baseOffset: log.append(batch, decoded) };
    } catch (error) {
      if (!(error instanceof InvalidRecordBatchError)) throw error;
      const errorCode = error.reason === 'unsupported-compression' ? ErrorCode.unsupportedCompressionType : ErrorCode.corruptMessage;
      return { partition, errorCode, baseOffset: -1 };
    }
  };

  return {
    decode: (reader) => {
      reader.readNullableString(); // transactional id: transactions are not implemented
      const acks = reader.readInt16();
      reader.readInt32(); // timeout: appends are synchronous
      const topics = reader.readArray((t) => ({
        name: t.readString(),
        partitions: t.readArray((p) => ({ partition: p.readInt32(), records: p.readNullableBytes() })),
      }));
      return { acks, topics };
    },
    handle: (request) => {
      const injected = services.faults.takeFailure('produce');
      const acksValid = request.acks === 0 || request.acks === 1 || request.acks === -1;
      let appended = false;
      const results = request.topics.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition): ProducePartitionResult => {
          if (injected !== null) return { partition: partition.partition, errorCode: injected, baseOffset: -1 };
          if (!acksValid) return { partition: partition.partition, errorCode: ErrorCode.invalidRequiredAcks, baseOffset: -1 };
          const result = appendPartition(topic.name, partition);
          appended ||= result.errorCode === ErrorCode.none;
          return result;
        }),
      }));
      if (appended) services.topics.notifyAppend();
      if (request.acks === 0) return null;
      const writer = new ProtocolWriter();
      writer.array(results, (w, topic) => {
        w.string(topic.name).array(topic.partitions, (pw, p) =>
          pw.int32(p.partition).int16(p.errorCode).int64(p.baseOffset).int64(-1).int64(0),
        );
      });
      return writer.int32(0);
    },
  };
}

interface FetchPartition {
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
}

interface FetchRequest {
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  sessionId: number;
  sessionEpoch: number;
  topics: { name: string; partitions: FetchPartition[] }[];
}

interface FetchedPartition {
  partition: number;
  errorCode: ErrorCodeValue;
  highWatermark: number;
  logStartOffset: number;
  records: Buffer[];
}

/**
 * Fetch v11 without fetch sessions (always answers session id 0, i.e. full fetches).
 * Long-polls: waits up to maxWaitMs for minBytes, waking on every append.
 */
export function fetch(services: BrokerServices): ApiHandler<FetchRequest> {
  const read = (request: FetchRequest, injected: ErrorCodeValue | null) => {
    let totalBytes = 0;
    let hasError = false;
    const topics = request.topics.map((topic) => ({
      name: topic.name,
      partitions: topic.partitions.map((wanted): FetchedPartition => {
        const failed = (errorCode: ErrorCodeValue): FetchedPartition => {
          hasError = true;
          return { partition: wanted.partition, errorCode, highWatermark: -1, logStartOffset: -1, records: [] };
        };
        if (injected !== null) return failed(injected);
        const log = services.topics.partition(topic.name, wanted.partition);
        if (!log) return failed(ErrorCode.unknownTopicOrPartition);
        if (wanted.fetchOffset < log.logStartOffset || wanted.fetchOffset > log.highWatermark) {
          return { ...failed(ErrorCode.offsetOutOfRange), highWatermark: log.highWatermark, logStartOffset: log.logStartOffset };
        }
        const limit = Math.min(wanted.partitionMaxBytes, Math.max(0, request.maxBytes - totalBytes));
        const records = log.read(wanted.fetchOffset, limit, totalBytes === 0);
        for (const batch of records) totalBytes += batch.length;
        return {
          partition: wanted.partition,
          errorCode: ErrorCode.none,
          highWatermark: log.highWatermark,
          logStartOffset: log.logStartOffset,
          records,
        };
      }),
    }));
    return { topics, totalBytes, hasError };
  };

  const encode = (topics: ReturnType<typeof read>['topics'], errorCode: ErrorCodeValue = ErrorCode.none) => {
    const writer = new ProtocolWriter(4096).int32(0).int16(errorCode).int32(0);
    return writer.array(topics, (w, topic) => {
      w.string(topic.name).array(topic.partitions, (pw, p) => {
        pw.int32(p.partition)
          .int16(p.errorCode)
          .int64(p.highWatermark)
          .int64(p.highWatermark) // last stable offset: no transactions, so the high watermark
          .int64(p.logStartOffset)
          .array([], () => undefined) // aborted transactions
          .int32(-1); // preferred read replica
        const size = p.records.reduce((sum, batch) => sum + batch.length, 0);
        pw.int32(size);
        for (const batch of p.records) pw.raw(batch);
      });
    });
  };

  return {
    decode: (reader) => {
      reader.readInt32(); // replica id: consumers send -1
      const maxWaitMs = reader.readInt32();
      const minBytes = reader.readInt32();
      const maxBytes = reader.readInt32();
      reader.readInt8(); // isolation level: nothing is transactional here
      const request: FetchRequest = {
        maxWaitMs,
        minBytes,
        maxBytes,
        sessionId: reader.readInt32(),
        sessionEpoch: reader.readInt32(),
        topics: reader.readArray((t) => ({
          name: t.readString(),
          partitions: t.readArray((p) => {
            const partition = p.readInt32();
            p.readInt32(); // current leader epoch
            const fetchOffset = p.readInt64AsNumber();
            p.readInt64(); // follower log start offset
            return { partition, fetchOffset, partitionMaxBytes: p.readInt32() };
          }),
        })),
      };
      reader.readArray((t) => ({ name: t.readString(), partitions: t.readArray((p) => p.readInt32()) })); // forgotten topics
      reader.readString(); // rack id
      return request;
    },
    handle: async (request, { header, connection }) => {
      if (request.sessionId !== 0) return encode([], ErrorCode.fetchSessionIdNotFound);
      const injected = services.faults.takeFailure('fetch');
      let result = read(request, injected);
      const parked = !(result.hasError || result.totalBytes >= request.minBytes || request.maxWaitMs <= 0);
      const seen = services.activity.recordFetch({
        clientId: header.clientId,
        maxWaitMs: request.maxWaitMs,
        partitions: request.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partition, fetchOffset: p.fetchOffset }))),
        parked,
      });
      if (!parked) return encode(result.topics);
      const completed = await new Promise<boolean>((resolve) => {
        const finish = (endedBy: LongPollEnd) => {
          clearTimeout(timer);
          stopListening();
          stopWatchingConnection();
          stopWatchingBroker();
          seen.endedBy = endedBy;
          resolve(endedBy !== 'closed');
        };
        const timer = setTimeout(() => finish('max-wait'), request.maxWaitMs);
        const stopListening = services.topics.onAppend(() => {
          result = read(request, null);
          if (result.hasError || result.totalBytes >= request.minBytes) finish('appended');
        });
        const stopWatchingConnection = connection.onClose(() => finish('closed'));
        const stopWatchingBroker = services.onStop(() => finish('closed'));
      });
      if (!completed) return null;
      return encode(read(request, null).topics);
    },
  };
}

interface ListOffsetsRequest {
  topics: { name: string; partitions: { partition: number; timestamp: number }[] }[];
}

const LATEST_TIMESTAMP = -1;
const EARLIEST_TIMESTAMP = -2;

/** ListOffsets v3: latest (-1), earliest (-2), or the first offset at or after a timestamp. */
export function listOffsets(services: BrokerServices): ApiHandler<ListOffsetsRequest> {
  return {
    decode: (reader) => {
      reader.readInt32(); // replica id
      reader.readInt8(); // isolation level
      return {
        topics: reader.readArray((t) => ({
          name: t.readString(),
          partitions: t.readArray((p) => ({ partition: p.readInt32(), timestamp: p.readInt64AsNumber() })),
        })),
      };
    },
    handle: (request) =>
      new ProtocolWriter().int32(0).array(request.topics, (w, topic) => {
        w.string(topic.name).array(topic.partitions, (pw, wanted) => {
          const log = services.topics.partition(topic.name, wanted.partition);
          if (!log) {
            pw.int32(wanted.partition).int16(ErrorCode.unknownTopicOrPartition).int64(-1).int64(-1);
            return;
          }
          let found: { offset: number; timestamp: number } | null;
          if (wanted.timestamp === LATEST_TIMESTAMP) found = { offset: log.highWatermark, timestamp: -1 };
          else if (wanted.timestamp === EARLIEST_TIMESTAMP) found = { offset: log.logStartOffset, timestamp: -1 };
          else found = log.offsetForTimestamp(wanted.timestamp);
          pw.int32(wanted.partition).int16(ErrorCode.none).int64(found?.timestamp ?? -1).int64(found?.offset ?? -1);
        });
      }),
  };
}
