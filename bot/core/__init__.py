"""Pure rules on frozen records: no I/O, no clock but an injected one."""
