# safegrid car profile. One directive per line; '#' starts a comment.
#   speed <highway value> <km/h>   ways with this highway=* are usable at this speed
#   oneway <highway value>          this class is one-way unless oneway=no
#   access_keys <key>...            access tags, most specific first
#   deny <value>...                 access values that close a way to cars
#   maxspeed <0|1> <factor>         use maxspeed=* (times factor) when it is set
speed motorway 100
speed motorway_link 60
speed trunk 80
speed trunk_link 50
speed primary 60
speed primary_link 45
speed secondary 50
speed secondary_link 40
speed tertiary 40
speed tertiary_link 35
speed unclassified 30
speed residential 30
speed road 25
speed living_street 10
speed service 15
oneway motorway
oneway motorway_link
access_keys motorcar motor_vehicle vehicle access
deny no private agricultural forestry emergency psv bus delivery
maxspeed 1 0.9
