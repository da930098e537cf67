-- Shared by the bench's wrk scripts (loaded with dofile): gives each wrk thread its own id and
-- random seed, so threads never draw the same sequence of ids or keys.
local next_tid = 0

function setup(thread)
    next_tid = next_tid + 1
    thread:set("tid", next_tid)
end

function seed_thread()
    math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end
