INSERT INTO audit.access_log (t_request, consumer, method, path, resource, cursor, rows_returned, status, client_addr,
                              detail)
VALUES (:t_request, :consumer, :method, :path, :resource, :cursor, :rows_returned, :status, :client_addr, :detail);
