#include "CCurlShim.h"

CURLcode slawatch_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode slawatch_curl_setopt_ptr(CURL *handle, CURLoption option, const void *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode slawatch_curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode slawatch_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode slawatch_curl_setopt_write_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}
CURLcode slawatch_curl_setopt_read_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}
CURLcode slawatch_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode slawatch_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode slawatch_curl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode slawatch_curl_getinfo_ptr(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLMcode slawatch_curl_multi_setopt_long(CURLM *multi, CURLMoption option, long value) {
    return curl_multi_setopt(multi, option, value);
}
CURLcode slawatch_curl_setopt_header_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}
CURLcode slawatch_curl_setopt_debug_callback(
    CURL *handle, int (*callback)(CURL *, curl_infotype, char *, size_t, void *)) {
    return curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, callback);
}
CURLcode slawatch_curl_setopt_mail_rcpt_allowfails(CURL *handle, long allow) {
#if LIBCURL_VERSION_NUM >= 0x080200
    return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLOWFAILS, allow);
#else
    return curl_easy_setopt(handle, CURLOPT_MAIL_RCPT_ALLLOWFAILS, allow);
#endif
}

const curl_version_info_data *slawatch_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}
