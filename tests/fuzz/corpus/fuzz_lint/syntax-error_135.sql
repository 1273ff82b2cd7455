DROP TABLE old_audit;
SELECT 'abc;
DROP TABLE older;