SAVEPOINT before_drop;
DROP TABLE old_audit;
RELEASE before_drop;