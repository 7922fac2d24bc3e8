// What a message asks for, in plain words: the message inspector's line when a view module has no
// explainMessage(msg) of its own (docs/frontend.md). One entry per protocol and message kind; unknown kinds: null.

const f = (v) => (v === undefined || v === null ? "?" : typeof v === "string" ? v : JSON.stringify(v));

const TEXT = {
  raft: {
    RequestVote: (m) => m.pre
      ? `A pre-vote: would you vote for ${m.candidate} in term ${m.term}? (its log ends at index ${m.last_log_index}, term ${m.last_log_term}; nobody changes term yet)`
      : `${m.candidate} asks for a vote to lead term ${m.term}; its log ends at index ${m.last_log_index} (term ${m.last_log_term}): grant it only if that is at least as up to date as yours`,
    RequestVoteReply: (m) => `${m.granted ? "Yes" : "No"}: the vote ${m.granted ? "is granted" : "is refused"}${m.pre ? " (pre-vote)" : ""} in term ${m.term}`,
    AppendEntries: (m) => (m.entries && m.entries.length
      ? `Leader ${m.leader} (term ${m.term}) asks to append ${m.entries.length} entr${m.entries.length === 1 ? "y" : "ies"} after index ${m.prev_index} (term ${m.prev_term}), if your log matches there`
      : `A heartbeat from leader ${m.leader} (term ${m.term}): "I am still here; your log should match mine at index ${m.prev_index}"`)
      + `; entries up to ${m.commit} are committed`,
    AppendEntriesReply: (m) => (m.success ? `Appended: this follower's log now matches up to index ${m.match}`
      : `Refused in term ${m.term}: the logs do not match${m.hint ? `; try again from index ${m.hint}` : ""}`),
  },
  paxos: {
    prepare: (m) => `Phase 1a: promise to ignore ballots lower than ${f(m.ballot)}, and tell me what you have accepted`,
    promise: (m) => `Phase 1b: promised ballot ${f(m.ballot)}${m.accepted ? `; already accepted ${f(m.accepted)}` : ""}`,
    accept: (m) => `Phase 2a: accept value ${f(m.value)} in ballot ${f(m.ballot)}${m.slot !== undefined ? ` for slot ${m.slot}` : ""}`,
    accepted: (m) => `Phase 2b: accepted ballot ${f(m.ballot)}: a majority of these chooses the value`,
    nack: (m) => `Refused: this acceptor promised a higher ballot (${f(m.promised || m.ballot)})`,
    decide: (m) => `The value ${f(m.value)} was chosen: learn it`,
    learned: () => "A learner reports the value it learned",
    commit: () => "A chosen value: learn it and apply it in order",
    heartbeat: () => "The distinguished proposer says it is alive (others hold back)",
    forward: (m) => `A client value forwarded to the proposer: ${f(m.value)}`,
    report: () => "What this node has learned, for catching up",
  },
  twophase: {
    Work: () => "The transaction's work for this participant",
    Prepare: (m) => `Phase 1: can you commit ${f(m.tx)}? Vote yes (and stay prepared: blocked until the decision) or no`,
    Vote: (m) => `This participant votes ${f(m.vote)} on ${f(m.tx)}`,
    PreCommit: (m) => `3PC: everyone voted yes on ${f(m.tx)}; get ready to commit`,
    PreAck: () => "3PC: ready to commit",
    Decision: (m) => `The outcome of ${f(m.tx)}: ${f(m.decision)}. Apply it and acknowledge`,
    Ack: (m) => `Decision on ${f(m.tx)} applied`,
    Inquire: (m) => `A blocked participant asks what was decided for ${f(m.tx)}`,
    Status: (m) => `An answer about ${f(m.tx)}: ${f(m.state || m.decision)}`,
    votes: () => "The votes gathered so far",
  },
  gossip: {
    push: () => "Here is a rumor I know: keep it if it is newer than yours",
    pull: () => "What rumors do you know? Send me what I am missing",
    pushpull: () => "Here is what I know; send back what I am missing",
    reply: () => "The rumors you were missing",
    feedback: (m) => `Did the rumor help? ${m.knew ? "I knew it already (the sender loses interest)" : "It was news"}`,
    gossip: () => "Membership updates, piggybacked",
    ping: () => "SWIM: are you alive? (carries membership updates)",
    ping_req: (m) => `SWIM: please ping ${f(m.target)} for me; I got no answer`,
    ack: () => "SWIM: I am alive (carries membership updates)",
  },
  kafka: {
    FindCoordinator: () => "Which broker coordinates my group?",
    JoinGroup: () => "Let me (re)join the group: part of the next rebalance",
    SyncGroup: () => "Give me my assignment (the leader sends everyone's)",
    Heartbeat: () => "I am still alive; is a rebalance under way?",
    ConsumerGroupHeartbeat: () => "KIP-848: my state, and what should I own now?",
    OffsetCommit: () => "Record how far I have processed these partitions",
    OffsetFetch: () => "Where did the group stop reading these partitions?",
    LeaveGroup: () => "I am leaving the group: rebalance without me",
    Metadata: () => "Which topics and partitions exist?",
  },
};

/** A plain-language line for `msg` of `protocol`, or null. */
export function explain(protocol, msg) {
  if (!msg || !msg.kind) return null;
  const table = TEXT[protocol] || {};
  let fn = table[msg.kind];
  if (!fn && /Response$/.test(msg.kind)) {
    const error = msg.error && msg.error !== "NONE" ? ` with error ${f(msg.error)}` : "";
    return `The broker's answer to ${msg.kind.replace(/Response$/, "")}${error}`;
  }
  return fn ? fn(msg) : null;
}
