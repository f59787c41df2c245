// SPDX-License-Identifier: GPL-2.0
/*
 * Non-blocking rw_semaphores with holder tracking. In a single-threaded
 * model a contended acquisition can only be a self-deadlock, so it is
 * recorded as a warning instead of waiting forever.
 */
#include <linux/mmdebug.h>
#include <linux/rwsem.h>
#include <rmapfuzz/world.h>

void __down_write(struct rw_semaphore *sem, const char *file, int line)
{
	if (sem->writer) {
		vm_warn_record(file, line, "down_write() on an rw_semaphore already held for write would deadlock");
		vm_warn_record(sem->owner_file, sem->owner_line, "... the rw_semaphore was taken here");
		return;
	}
	if (sem->readers) {
		vm_warn_record(file, line, "down_write() on an rw_semaphore held for read would deadlock");
		return;
	}
	sem->writer = true;
	sem->owner_file = file;
	sem->owner_line = line;
	current_world->locks_held++;
}

void __up_write(struct rw_semaphore *sem, const char *file, int line)
{
	if (!sem->writer) {
		vm_warn_record(file, line, "up_write() of an rw_semaphore not held for write");
		return;
	}
	sem->writer = false;
	sem->owner_file = NULL;
	sem->owner_line = 0;
	current_world->locks_held--;
}

void __down_read(struct rw_semaphore *sem, const char *file, int line)
{
	if (sem->writer) {
		vm_warn_record(file, line, "down_read() on a write-held rw_semaphore would deadlock");
		vm_warn_record(sem->owner_file, sem->owner_line, "... the rw_semaphore was taken here");
		return;
	}
	sem->readers++;
	current_world->locks_held++;
}

void __up_read(struct rw_semaphore *sem, const char *file, int line)
{
	if (sem->readers <= 0) {
		vm_warn_record(file, line, "up_read() of an rw_semaphore not held for read");
		return;
	}
	sem->readers--;
	current_world->locks_held--;
}
