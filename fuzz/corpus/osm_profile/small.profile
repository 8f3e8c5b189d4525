speed residential 50
oneway residential
maxspeed 0 1
access_keys access
deny no
