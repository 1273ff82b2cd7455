TRUNCATE audit, audit_detail;
