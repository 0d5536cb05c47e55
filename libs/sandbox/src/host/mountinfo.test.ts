import { allMounts, mountsBelow } from './mountinfo';

// Lines as the kernel writes them (fields: id, parent, dev, root, mount point, options, optional
// fields, '-', type, source, super options); a space in a path is \040.
const table = [
  '22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '40 22 0:27 / /dev/shm rw,nosuid,nodev shared:2 - tmpfs tmpfs rw',
  '81 22 7:0 / /data/ws/a/vol rw,noatime - ext4 /dev/loop0 rw',
  '82 22 0:50 / /data/ws/a/merged rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/data/ws/a/vol/upper',
  '83 22 7:1 / /data/ws/ab/vol rw,noatime - ext4 /dev/loop1 rw',
  '90 40 0:27 /j/w /dev/shm/j/w rw shared:5 - tmpfs tmpfs rw',
  '91 90 0:50 / /dev/shm/j/w rw shared:3 - overlay overlay rw',
  '95 22 7:2 / /data/ws/my\\040space/vol rw - ext4 /dev/loop2 rw',
].join('\n');

test('mountsBelow: the folder and what is below it, not a sibling that shares its prefix; deepest first, the last mounted first at one point', () => {
  expect(mountsBelow(table, '/data/ws/a').map((m) => m.mountPoint).sort()).toEqual(['/data/ws/a/merged', '/data/ws/a/vol']);
  expect(mountsBelow(table, '/data/ws/a/vol')).toEqual([{ mountPoint: '/data/ws/a/vol', fsType: 'ext4', source: '/dev/loop0' }]);
  // Two mounts stacked on one point: the overlay bound over the self-bind comes off first.
  expect(mountsBelow(table, '/dev/shm/j').map((m) => m.fsType)).toEqual(['overlay', 'tmpfs']);
  expect(mountsBelow(table, '/dev/shm').map((m) => m.mountPoint)).toEqual(['/dev/shm/j/w', '/dev/shm/j/w', '/dev/shm']);
  expect(mountsBelow(table, '/nothing/here')).toEqual([]);
});

test('mountsBelow and allMounts unescape paths, and a folder with a space is found', () => {
  expect(mountsBelow(table, '/data/ws/my space')).toEqual([{ mountPoint: '/data/ws/my space/vol', fsType: 'ext4', source: '/dev/loop2' }]);
  expect(allMounts(table).map((m) => m.mountPoint)).toContain('/data/ws/my space/vol');
  expect(allMounts(table)).toHaveLength(8);
});

test('mountsBelow reads the real table of this process', async () => {
  const { readFileSync } = await import('node:fs');
  expect(mountsBelow(readFileSync('/proc/self/mountinfo', 'utf8'), '/proc').map((m) => m.fsType)).toContain('proc');
});
