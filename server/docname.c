#include "docname.h"

int doc_name_decode(const char *raw, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)raw[i];
		if (ch == '%') {
			if (i + 2 >= len)
				return -1;
			int v = 0;
			for (int k = 1; k <= 2; k++) {
				char h = raw[i + k];
				v <<= 4;
				if (h >= '0' && h <= '9')
					v |= h - '0';
				else if (h >= 'a' && h <= 'f')
					v |= h - 'a' + 10;
				else if (h >= 'A' && h <= 'F')
					v |= h - 'A' + 10;
				else
					return -1;
			}
			ch = (unsigned char)v;
			i += 2;
		}
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
			 ch == '_' || ch == '~' || ch == '/' || ch == '-';
		if (!ok || o >= 255)
			return -1;
		out[o++] = (char)ch;
	}
	return o ? (int)o : -1;
}
