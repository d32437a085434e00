/** The Kafka error codes this broker answers with (https://kafka.apache.org/protocol#protocol_error_codes). */
export const ErrorCode = {
  none: 0,
  offsetOutOfRange: 1,
  corruptMessage: 2,
  unknownTopicOrPartition: 3,
  notLeaderOrFollower: 6,
  coordinatorNotAvailable: 15,
  invalidTopic: 17,
  invalidRequiredAcks: 21,
  illegalGeneration: 22,
  inconsistentGroupProtocol: 23,
  invalidGroupId: 24,
  unknownMemberId: 25,
  invalidSessionTimeout: 26,
  rebalanceInProgress: 27,
  unsupportedVersion: 35,
  topicAlreadyExists: 36,
  invalidPartitions: 37,
  invalidReplicationFactor: 38,
  invalidRequest: 42,
  fetchSessionIdNotFound: 70,
  unsupportedCompressionType: 76,
  memberIdRequired: 79,
  invalidRecord: 87,
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];
