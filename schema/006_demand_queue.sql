-- The queue of unmet demand (issue 14 point 1): a device that asked for an app when no usable
-- token had a free licence waits here, first in first out per (tenant, asset), and is served by
-- an ordinary assign batch the moment licences appear. The id is the order of arrival.
-- A device waits for an asset at most once; the composite references keep tenants sealed.
CREATE TABLE demand_queue (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL,
    asset_id  INTEGER NOT NULL,
    device_id INTEGER NOT NULL,
    queued_at INTEGER NOT NULL,                  -- seconds since 1970
    UNIQUE (tenant_id, asset_id, device_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES assets (tenant_id, id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
) STRICT;
CREATE INDEX demand_queue_in_order ON demand_queue (tenant_id, asset_id, id);
CREATE INDEX demand_queue_by_device ON demand_queue (tenant_id, device_id);
