/* Random (version 4) UUIDs for generated ids and correlation ids. */
#ifndef ORDERLY_UUID_H
#define ORDERLY_UUID_H

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

void uuid_v4(char out[UUID_STR_LEN]);

#endif
