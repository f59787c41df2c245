/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few error numbers the model uses. Defined here rather than taken from
 * <errno.h>, which would pull the C library's own linux/errno.h back to us.
 */
#ifndef _LINUX_ERRNO_H
#define _LINUX_ERRNO_H

#define EAGAIN		11
#define ENOMEM		12
#define EFAULT		14
#define EINVAL		22

#endif /* _LINUX_ERRNO_H */
