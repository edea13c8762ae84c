#!/bin/sh
# Serves /srv/www on port 8080 with busybox httpd (foreground).
lab-info
echo "serving /srv/www on :8080"
exec busybox httpd -f -v -p 8080 -h /srv/www
