import type { ApiHandler, BrokerServices } from './api-handler.ts';
import { SUPPORTED_APIS } from './api-keys.ts';
import { ErrorCode, type ErrorCodeValue } from './error-codes.ts';
import { ProtocolWriter } from './protocol-writer.ts';
import { isLegalTopicName } from './topic-registry.ts';

/** ApiVersions v0-v2: request body is empty; v1+ responses end with throttle_time_ms. */
export function apiVersionsResponse(errorCode: ErrorCodeValue, withThrottleTime: boolean): ProtocolWriter {
  const writer = new ProtocolWriter().int16(errorCode);
  writer.array(SUPPORTED_APIS, (w, api) => w.int16(api.apiKey).int16(api.minVersion).int16(api.maxVersion));
  if (withThrottleTime) writer.int32(0);
  return writer;
}

export const apiVersions: ApiHandler<null> = {
  decode: () => null,
  handle: (_request, { header }) => apiVersionsResponse(ErrorCode.none, header.apiVersion >= 1),
};

interface MetadataRequest {
  topics: string[] | null;
  allowAutoTopicCreation: boolean;
}

/** Metadata v6. */
export function metadata(services: BrokerServices): ApiHandler<MetadataRequest> {
  return {
    decode: (reader) => ({
      topics: reader.readNullableArray((r) => r.readString()),
      allowAutoTopicCreation: reader.readBoolean(),
    }),
    handle: (request) => {
      const { settings, topics } = services;
      const names = request.topics ?? topics.names();
      const writer = new ProtocolWriter()
        .int32(0)
        .array([settings.nodeId], (w, nodeId) => w.int32(nodeId).string(settings.host).int32(services.port()).string(null))
        .string(settings.clusterId)
        .int32(settings.nodeId);
      writer.array(names, (w, name) => {
        if (!topics.has(name)) {
          if (!isLegalTopicName(name)) {
            w.int16(ErrorCode.invalidTopic).string(name).boolean(false).array([], () => undefined);
            return;
          }
          if (!(settings.autoCreateTopics && request.allowAutoTopicCreation)) {
            w.int16(ErrorCode.unknownTopicOrPartition).string(name).boolean(false).array([], () => undefined);
            return;
          }
          // Kafka answers LEADER_NOT_AVAILABLE until the new leader is elected; here it is instant.
          topics.create(name, settings.defaultPartitions);
        }
        w.int16(ErrorCode.none).string(name).boolean(false);
        w.array(topics.partitions(name) ?? [], (pw, log) =>
          pw
            .int16(ErrorCode.none)
            .int32(log.partition)
            .int32(settings.nodeId)
            .array([settings.nodeId], (rw, id) => rw.int32(id))
            .array([settings.nodeId], (rw, id) => rw.int32(id))
            .array([], () => undefined),
        );
      });
      return writer;
    },
  };
}

interface CreatableTopic {
  name: string;
  numPartitions: number;
  replicationFactor: number;
  assignments: { partition: number; brokerIds: number[] }[];
}

interface CreateTopicsRequest {
  topics: CreatableTopic[];
  validateOnly: boolean;
}

/** CreateTopics v3. Config entries are read and ignored: this log keeps everything. */
export function createTopics(services: BrokerServices): ApiHandler<CreateTopicsRequest> {
  return {
    decode: (reader) => {
      const topics = reader.readArray((r) => {
        const topic: CreatableTopic = {
          name: r.readString(),
          numPartitions: r.readInt32(),
          replicationFactor: r.readInt16(),
          assignments: r.readArray((a) => ({ partition: a.readInt32(), brokerIds: a.readArray((b) => b.readInt32()) })),
        };
        r.readArray((c) => ({ name: c.readString(), value: c.readNullableString() }));
        return topic;
      });
      reader.readInt32(); // timeoutMs: creation is immediate
      return { topics, validateOnly: reader.readBoolean() };
    },
    handle: (request) => {
      const { topics, settings } = services;
      const counts = new Map<string, number>();
      for (const topic of request.topics) counts.set(topic.name, (counts.get(topic.name) ?? 0) + 1);
      const outcome = (topic: CreatableTopic): { errorCode: ErrorCodeValue; message: string | null } => {
        if ((counts.get(topic.name) ?? 0) > 1) return { errorCode: ErrorCode.invalidRequest, message: 'topic named twice in one request' };
        if (!isLegalTopicName(topic.name)) return { errorCode: ErrorCode.invalidTopic, message: `illegal topic name '${topic.name}'` };
        if (topics.has(topic.name)) return { errorCode: ErrorCode.topicAlreadyExists, message: `topic '${topic.name}' already exists` };
        if (topic.assignments.length > 0) {
          if (topic.numPartitions !== -1 || topic.replicationFactor !== -1) {
            return { errorCode: ErrorCode.invalidRequest, message: 'replica assignment excludes partition count and replication factor' };
          }
          if (topic.assignments.some((a) => a.brokerIds.some((id) => id !== settings.nodeId))) {
            return { errorCode: ErrorCode.invalidReplicationFactor, message: `only broker ${settings.nodeId} exists` };
          }
          return { errorCode: ErrorCode.none, message: null };
        }
        if (topic.numPartitions === 0 || topic.numPartitions < -1) {
          return { errorCode: ErrorCode.invalidPartitions, message: `invalid partition count ${topic.numPartitions}` };
        }
        if (topic.replicationFactor !== -1 && topic.replicationFactor !== 1) {
          return { errorCode: ErrorCode.invalidReplicationFactor, message: 'a single broker can only hold one replica' };
        }
        return { errorCode: ErrorCode.none, message: null };
      };
      return new ProtocolWriter().int32(0).array(request.topics, (w, topic) => {
        const { errorCode, message } = outcome(topic);
        if (errorCode === ErrorCode.none && !request.validateOnly) {
          const partitions = topic.assignments.length > 0 ? topic.assignments.length : topic.numPartitions === -1 ? settings.defaultPartitions : topic.numPartitions;
          topics.create(topic.name, partitions);
        }
        w.string(topic.name).int16(errorCode).string(message);
      });
    },
  };
}

interface FindCoordinatorRequest {
  key: string;
  keyType: number;
}

/** FindCoordinator v2: this single node coordinates every group. */
export function findCoordinator(services: BrokerServices): ApiHandler<FindCoordinatorRequest> {
  return {
    decode: (reader) => ({ key: reader.readString(), keyType: reader.readInt8() }),
    handle: (request) => {
      const writer = new ProtocolWriter().int32(0);
      if (request.keyType !== 0 && request.keyType !== 1) {
        return writer.int16(ErrorCode.invalidRequest).string(`unknown key type ${request.keyType}`).int32(-1).string('').int32(-1);
      }
      return writer.int16(ErrorCode.none).string(null).int32(services.settings.nodeId).string(services.settings.host).int32(services.port());
    },
  };
}
