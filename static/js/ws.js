// The WebSocket link to /ws/play/ (protocol: docs/websocket.md). Acknowledges every numbered message once
// it has been handled, which is what lets the server pace itself to this client.

const ACK_EVERY = 8;
const ACK_DELAY_MS = 100;

export class Connection {
  constructor({ onMessage, onState }) {
    this.onMessage = onMessage;
    this.onState = onState || (() => {});
    this.ws = null;
    this.queue = [];
    this.state = "closed";
    this.lastAck = 0; // highest sequence number acknowledged
    this.toAck = 0; // highest received
    this.ackTimer = null;
    this.chunks = []; // slices of a long message received so far
  }

  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/play/`);
    this.ws = ws;
    this.lastAck = 0;
    this.toAck = 0;
    this.setState("connecting");
    ws.addEventListener("open", () => {
      this.setState("open");
      for (const msg of this.queue.splice(0)) ws.send(msg);
    });
    ws.addEventListener("message", (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
        if (msg.type === "chunk") {
          // a message too long for one WebSocket message comes in consecutive slices (docs/websocket.md)
          if (msg.n === 0) this.chunks = [];
          this.chunks.push(msg.data);
          if (msg.n < msg.of - 1) return;
          msg = JSON.parse(this.chunks.join(""));
          this.chunks = [];
        }
      } catch (err) {
        console.error("bad message from server", err);
        return;
      }
      try {
        this.onMessage(msg);
      } finally {
        if (typeof msg.seq === "number" && !msg.viewer) this.ack(msg.seq);
      }
    });
    ws.addEventListener("close", () => {
      if (this.ws === ws) this.setState("closed");
    });
    ws.addEventListener("error", () => {});
  }

  /** Acknowledge every ACK_EVERY messages, or ACK_DELAY_MS after the last one (the server's window is 64). */
  ack(seq) {
    this.toAck = Math.max(this.toAck, seq);
    if (this.toAck - this.lastAck >= ACK_EVERY) this.flushAck();
    else if (!this.ackTimer) this.ackTimer = setTimeout(() => this.flushAck(), ACK_DELAY_MS);
  }

  flushAck() {
    clearTimeout(this.ackTimer);
    this.ackTimer = null;
    if (this.toAck > this.lastAck) {
      this.lastAck = this.toAck;
      this.send({ type: "ack", seq: this.toAck });
    }
  }

  setState(state) {
    this.state = state;
    this.onState(state);
  }

  send(obj) {
    const text = JSON.stringify(obj);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else if (obj.type !== "ack") this.queue.push(text);
  }

  close() {
    if (this.ws) this.ws.close();
  }
}
