"""One invocation of the reminder job: the trigger, its composition, the pass, the log, fencing."""
