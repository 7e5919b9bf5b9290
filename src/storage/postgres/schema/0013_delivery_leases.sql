-- Issue 15: outbound delivery shared between nodes. One row per conversation that a node has
-- delivered (created when first claimed): which node delivers it now and until when (ms since
-- the epoch, the node's clock). A node claims a conversation with pending outbound events when
-- its lease has expired (expires_at < now) or was released (expires_at = 0), locking the row
-- with FOR UPDATE SKIP LOCKED, so two nodes never take one conversation; it renews the lease
-- while it delivers and releases it when the conversation has nothing left to send.
CREATE TABLE delivery_leases (
  conversation_id TEXT COLLATE "C" PRIMARY KEY,
  node_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX delivery_leases_by_node ON delivery_leases (node_id) WHERE expires_at > 0;
