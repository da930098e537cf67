-- A separate connection's coalesced wake-up, run at a fixed rate (-R) beside the appends.
NOTIFY orderly_events;
